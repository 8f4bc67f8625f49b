"""Which hosts and addresses a webhook may reach: public ones only (no SSRF into the network).

Pure rules, used twice: when an agency saves its webhook URL (the host as written) and when a
webhook is sent (every address its name resolves to).
"""

from __future__ import annotations

import ipaddress

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that never leave the machine or the site, whatever DNS says.
_LOCAL_NAMES = ("localhost",)
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal")

# Ranges ``is_global`` lets through, or that differ between Python releases: listed to be sure.
_NOT_PUBLIC = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8",        # "this network"
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "100.64.0.0/10",    # shared address space (carrier-grade NAT)
    "127.0.0.0/8", "169.254.0.0/16",
    "192.0.0.0/24",     # IETF protocol assignments
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",  # documentation
    "198.18.0.0/15",    # benchmarking
    "224.0.0.0/4",      # multicast
    "240.0.0.0/4",      # reserved, and the broadcast address
    "::/128", "::1/128",
    "::ffff:0:0/96", "::/96",  # IPv4-mapped and IPv4-compatible (checked as IPv4 as well)
    "64:ff9b::/96", "64:ff9b:1::/48",  # NAT64
    "100::/64",         # discard-only
    "2001::/23", "2001:db8::/32",
    "fc00::/7",         # unique-local
    "fe80::/10",        # link-local
    "fec0::/10",        # site-local (deprecated, still routed by some)
    "ff00::/8",         # multicast
))


def is_local_name(host: str) -> bool:
    """``localhost``, ``*.localhost``, ``*.local`` and ``*.internal`` (case and a final dot ignored)."""
    name = host.lower().rstrip(".")
    return name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES)


def is_public_address(address: Address) -> bool:
    """True only for a globally routable unicast address.

    IPv4 inside IPv6 (mapped, compatible, 6to4) is judged by the IPv4 address it carries.
    """
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(str(address).split("%")[0])  # drop a zone id
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in ipaddress.ip_network("::/96"):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
    if any(address in network for network in _NOT_PUBLIC if network.version == address.version):
        return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_link_local
        or address.is_loopback or address.is_unspecified or address.is_private
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells, read the way the C library's ``inet_aton`` reads it, or None
    for a name.

    ``127.1``, ``2130706433``, ``0x7f000001``, ``0177.0.0.1`` and ``10.1`` are all IPv4 to the
    resolver, so they are IPv4 here too; IPv6 literals may carry a zone id.
    """
    text = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return _inet_aton(text.rstrip("."))


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_c_number(part) for part in parts]
    if any(n is None for n in numbers):
        return None
    *leading, last = numbers
    if any(n > 0xFF for n in leading) or last >= 1 << (8 * (5 - len(parts))):
        return None
    value = 0
    for n in leading:
        value = value << 8 | n
    return ipaddress.IPv4Address(value << (8 * (5 - len(parts))) | last)


def _c_number(part: str) -> int | None:
    """A number as C's ``strtoul(part, 0)`` reads it: 0x hex, leading-zero octal, or decimal."""
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            digits = lowered[2:] or "0"
            return int(digits, 16) if all(c in "0123456789abcdef" for c in digits) else None
        if lowered.startswith("0") and len(lowered) > 1:
            return int(lowered[1:], 8)
        return int(lowered, 10) if lowered.isdigit() else None
    except ValueError:
        return None


def is_refused_host(host: str) -> bool:
    """A host as written in a URL that names this machine or a private network: a local name or
    an address (in any spelling the resolver accepts) that is not public."""
    if is_local_name(host):
        return True
    address = literal_address(host)
    return address is not None and not is_public_address(address)
