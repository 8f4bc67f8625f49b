"""A product network made ready to load: seeded agencies, an event tap and a webhook receiver.

``product_rig`` is the run's PostgreSQL network, made once and shared by every section that
drives it (product, consent, memory, count, profile); ``rig_on`` readies another network the
same way (the SQLite network of ``bench/sqlite.py``), whose caller ends it with ``stop``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bench import steps, workload
from bench.context import BenchContext
from bench.events import EventTap, WebhookReceiver
from bench.load import HttpTarget
from bench.seed import SeededNetwork, ensure_places, referral_request, seed
from network.processes import Network
from services.kit.topology import EVENTS


@dataclass
class ProductRig:
    context: BenchContext
    seeded: SeededNetwork
    tap: EventTap
    receiver: WebhookReceiver
    # None: the context's network, whichever processes run it now (sections restart it).
    net: Network | None = None

    def pipeline(self, drain_seconds: float, *, sample_memory: bool = True) -> steps.Pipeline:
        """A driver for the running network; with ``sample_memory``, its largest size whenever a
        load stops goes into the run's ``load_rss_mb`` (and ``load_pss_mb``)."""
        context = self.context
        net = self.net or context.network()
        url = urlsplit(net.base_url)
        pids = {name: p.pid for name, p in net.running.items()}
        peak: dict[str, float] = context.shared.setdefault("load_rss_mb", {})
        peak_pss: dict[str, float] = context.shared.setdefault("load_pss_mb", {})

        def note_memory() -> None:
            for sizes, seen in ((context.rss(net), peak), (context.pss(net), peak_pss)):
                for name, mb in sizes.items():
                    seen[name] = max(seen.get(name, 0.0), mb)

        def prepare(expected: int) -> None:
            # Every proposal so far holds a place: keep room for the next run, with a margin.
            ensure_places(self.seeded, self.tap.arrivals.counts["match.proposed"] + int(expected * 1.2) + 50)

        return steps.Pipeline(
            HttpTarget(url.hostname, url.port), lambda i: referral_request(self.seeded, i),
            self.tap.arrivals, self.receiver.arrivals, drain_seconds,
            on_loaded=note_memory if sample_memory else None, cpu=lambda: context.cpu(pids),
            prepare=prepare)

    def stop(self) -> None:
        self.tap.stop()
        self.receiver.stop()


def rig_on(context: BenchContext, net: Network | None = None) -> ProductRig:
    """Start a webhook receiver (every peer group's webhook) and a tap of proposals and
    notifications, and seed ``net`` (default: the context's network) for load."""
    target = net or context.network()
    receiver = WebhookReceiver(workload.referral_of_webhook).start()
    tap = EventTap(context.amqp_uri, EVENTS, ["match.proposed", "notification.*"],
                   workload.referral_of_event).start()
    try:
        seeded = seed(target, receiver.url + "/hooks", 200 if context.smoke else 1000)
    except BaseException:
        tap.stop()
        receiver.stop()
        raise
    return ProductRig(context, seeded, tap, receiver, net)


def product_rig(context: BenchContext) -> ProductRig:
    """The run's rig on its PostgreSQL network, created (network started and seeded) on first use."""
    if "rig" not in context.shared:
        rig = rig_on(context)
        context.on_close(rig.stop)
        context.shared["rig"] = rig
    return context.shared["rig"]
