"""What services register with the kit: consumers, event catalogs, commands and sealed tables."""

from __future__ import annotations

import argparse
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from nameko.rpc import rpc

from services.kit import cli, consumers, contract, keys_command, registry
from services.kit.contract import CATALOG, ContractError, EventCatalog, EventType, new_event, parse_event
from services.kit.entrypoints import subscribe
from services.outcomes.domain.facts import CONSUMED

ROOT = Path(__file__).resolve().parents[3]
MATCH_EVENTS = ("match.proposed", "match.accepted", "match.declined", "match.expired", "match.withdrawn",
                "match.waitlisted")
CONSENT_ENDED = ("consent.revoked", "consent.expired")


class IntakeService:
    name = "intake"

    @subscribe("match.proposed", "match.accepted")
    def on_match(self, event) -> None:
        raise AssertionError("never called here")

    @subscribe("consent.expired")
    def on_consent_expired(self, event) -> None:
        raise AssertionError("never called here")

    @rpc
    def ping(self) -> str:
        return "ok"


class IntakeAgain:
    name = "intake"

    @subscribe("consent.revoked")
    def on_match(self, event) -> None:
        raise AssertionError("never called here")


# -- consumers -------------------------------------------------------------------------------

def test_a_service_class_subscriptions_are_collected_from_its_subscribe_methods():
    assert consumers.subscriptions_of(IntakeService) == {
        "intake.on_match": ("match.proposed", "match.accepted"),
        "intake.on_consent_expired": ("consent.expired",),
    }


def test_two_services_claiming_one_consumer_queue_are_refused():
    with pytest.raises(ValueError, match="intake.on_match"):
        consumers.subscriptions([IntakeService, IntakeAgain])


def test_every_registered_consumer_is_collected_with_its_event_types():
    assert consumers.subscriptions() == {
        "engagement.on_consent_ended": CONSENT_ENDED,
        "engagement.on_referral_status_changed": ("referral.status_changed",),
        "matching.on_consent_ended": CONSENT_ENDED,
        "matching.on_referral_requested": ("referral.requested",),
        "matching.on_referral_status_changed": ("referral.status_changed",),
        "notifications.on_event": ("referral.status_changed", *MATCH_EVENTS, *CONSENT_ENDED,
                                   "mentor.certification_expiring"),
        "referrals.on_consent_ended": CONSENT_ENDED,
        "referrals.on_match": MATCH_EVENTS,
        "outcomes.on_event": CONSUMED,
    }


def test_every_consumed_event_type_has_a_publisher():
    consumed = {t for types in consumers.subscriptions().values() for t in types}
    assert consumed <= set(CATALOG)


def test_a_name_registered_twice_in_one_group_is_refused(monkeypatch):
    twice = [EntryPoint("consent", "services.consent.catalog", registry.CATALOGS),
             EntryPoint("consent", "services.referrals.catalog", registry.CATALOGS)]
    monkeypatch.setattr(registry, "entry_points", lambda group: twice)
    with pytest.raises(registry.RegistryError, match="consent"):
        registry.registered(registry.CATALOGS)


# -- event catalogs --------------------------------------------------------------------------

def test_every_publisher_catalog_is_loaded_with_its_own_event_types():
    publisher_of = {name: spec.schema.__module__ for name, spec in CATALOG.items()}
    assert publisher_of == {
        "consent.granted": "services.consent.catalog",
        "consent.revoked": "services.consent.catalog",
        "consent.expired": "services.consent.catalog",
        "referral.requested": "services.referrals.catalog",
        "referral.status_changed": "services.referrals.catalog",
        "referral.refused": "services.referrals.catalog",
        **{name: "services.matching.catalog" for name in MATCH_EVENTS},
        "mentor.certification_expiring": "services.matching.catalog",
        "notification.delivered": "services.notifications.catalog",
        "notification.failed": "services.notifications.catalog",
        **{f"engagement.{name}": "services.engagement.catalog"
           for name in ("contact_logged", "checkin_answered", "silence_detected", "crisis_signaled",
                        "assessment_completed")},
    }


def test_a_catalog_is_loaded_on_first_use_and_only_once():
    loads = []

    def load():
        loads.append(1)
        return [EventType("consent.expired", 1, CATALOG["consent.expired"].schema)]

    catalog = EventCatalog(load)
    assert loads == []
    assert catalog.event_type("consent.expired").version == 1
    assert list(catalog) == ["consent.expired"] and len(catalog) == 1
    assert loads == [1]


def test_an_event_type_declared_by_two_catalogs_is_refused():
    spec = CATALOG["consent.expired"]
    with pytest.raises(ContractError, match="two catalogs"):
        EventCatalog(lambda: [spec, spec]).event_type("consent.expired")


def test_an_unknown_event_type_is_refused_both_ways():
    with pytest.raises(ContractError, match="unknown event type"):
        new_event("referral.teleported", {"referral_id": "r-1"}, source="referrals")
    message = new_event("consent.expired", {"consent_id": "c-1", "participant_id": "p-1"},
                        source="consent").to_message()
    with pytest.raises(ContractError, match="unknown event type"):
        parse_event({**message, "type": "referral.teleported"})


def test_an_empty_registry_knows_no_event(monkeypatch):
    monkeypatch.setattr(contract, "CATALOG", EventCatalog(lambda: []))
    with pytest.raises(ContractError):
        new_event("consent.expired", {"consent_id": "c-1", "participant_id": "p-1"}, source="consent")


# -- commands --------------------------------------------------------------------------------

def _help(capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_the_cli_lists_every_registered_command_that_is_installed(capsys):
    names = {ep.name for ep in registry.registered(registry.COMMANDS)}
    assert {"deadletters", "topology", "keys", "field-keys", "agency", "ledger", "migrate"} <= names
    installed = set(cli.registered_commands())
    assert {"deadletters", "topology", "keys", "field-keys", "agency"} <= installed
    listed = _help(capsys)
    for name in installed:
        assert name in listed


def test_a_command_whose_module_is_not_installed_is_left_out_with_a_warning(monkeypatch, capsys):
    entry = [EntryPoint("ghost", "services.kit.no_such_command:register", registry.COMMANDS),
             EntryPoint("topology", "services.kit.cli:register_topology", registry.COMMANDS)]
    monkeypatch.setattr(registry, "registered", lambda group: entry)
    assert list(cli.registered_commands()) == ["topology"]
    assert "'ghost'" in capsys.readouterr().err


def test_a_broken_command_registration_is_not_hidden(monkeypatch):
    entry = [EntryPoint("topology", "services.kit.cli:no_such_register", registry.COMMANDS)]
    monkeypatch.setattr(registry, "registered", lambda group: entry)
    with pytest.raises(AttributeError):
        cli.build_parser()


# -- sealed columns --------------------------------------------------------------------------

def test_key_rotation_is_offered_for_the_registered_sealed_services_only():
    parser = argparse.ArgumentParser()
    keys_command.register(parser.add_subparsers(dest="command"))
    for service in ("consent", "referrals", "notifications"):
        assert parser.parse_args(["field-keys", "rotate", service]).service == service
    with pytest.raises(SystemExit):
        parser.parse_args(["field-keys", "rotate", "matching"])


def test_every_sealed_module_names_its_tables_and_encrypted_columns():
    for name, orm in registry.load(registry.SEALED).items():
        assert orm.ENCRYPTED, name
        for table, columns in orm.ENCRYPTED.items():
            assert set(columns) <= set(orm.metadata.tables[table].columns.keys())


def test_a_sealed_service_config_defaults_to_the_one_beside_its_package():
    expected = ROOT / "services" / "consent" / "config.yml"
    assert keys_command.default_config("services.consent.adapters.orm") == expected
