"""The product network made ready to load, once per run: seeded agencies, an event tap and a
webhook receiver, shared by every section that drives the product (product, consent, memory,
profile)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bench import steps, workload
from bench.context import BenchContext
from bench.events import EventTap, WebhookReceiver
from bench.load import HttpTarget
from bench.seed import SeededNetwork, ensure_places, referral_request, seed
from services.kit.topology import EVENTS


@dataclass
class ProductRig:
    context: BenchContext
    seeded: SeededNetwork
    tap: EventTap
    receiver: WebhookReceiver

    def pipeline(self, drain_seconds: float) -> steps.Pipeline:
        """A driver for the running network; samples its memory whenever a load stops."""
        context, net = self.context, self.context.network()
        url = urlsplit(net.base_url)
        pids = {name: p.pid for name, p in net.running.items()}
        peak: dict[str, float] = context.shared.setdefault("load_rss_mb", {})

        def sample_memory() -> None:
            for name, mb in context.rss(net).items():
                peak[name] = max(peak.get(name, 0.0), mb)

        def prepare(expected: int) -> None:
            # Every proposal so far holds a place: keep room for the next run, with a margin.
            ensure_places(self.seeded, self.tap.arrivals.counts["match.proposed"] + int(expected * 1.2) + 50)

        return steps.Pipeline(
            HttpTarget(url.hostname, url.port), lambda i: referral_request(self.seeded, i),
            self.tap.arrivals, self.receiver.arrivals, drain_seconds, on_loaded=sample_memory,
            cpu=lambda: context.cpu(pids), prepare=prepare)


def product_rig(context: BenchContext) -> ProductRig:
    """The run's rig, created (network started and seeded) on first use."""
    if "rig" not in context.shared:
        net = context.network()
        receiver = WebhookReceiver(workload.referral_of_webhook).start()
        context.on_close(receiver.stop)
        tap = EventTap(context.amqp_uri, EVENTS, ["match.proposed", "notification.*"],
                       workload.referral_of_event).start()
        context.on_close(tap.stop)
        seeded = seed(net, receiver.url + "/hooks", 200 if context.smoke else 1000)
        context.shared["rig"] = ProductRig(context, seeded, tap, receiver)
    return context.shared["rig"]
