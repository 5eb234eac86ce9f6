import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.models import Deal
from overview import service
from overview.detect import MAX_PER_TYPE, detect
from overview.execute import save_snapshots
from tests import factories

pytestmark = pytest.mark.django_db


def later():
    return timezone.now() + datetime.timedelta(seconds=1)


def test_it_reports_a_contact_created_after_the_watermark_as_new(alice, state):
    factories.contact(alice, name="Dana Scully")

    changes = detect(state, until=later())

    assert [(c.change_type, c.label) for c in changes.contacts] == [
        ("new", "Dana Scully")
    ]
    assert changes.totals == {"contacts": 1, "deals": 0, "events": 0}


def test_it_gives_field_level_diffs_for_an_entity_seen_before(alice):
    deal = factories.deal(alice, stage="proposal", value=Decimal("50000.00"))
    state = service.enable(alice)

    deal.stage = "negotiation"
    deal.value = Decimal("80000")
    deal.save()
    (change,) = detect(state, until=later()).deals

    assert change.change_type == "updated"
    assert [str(diff) for diff in change.diff] == [
        "value: 50000 -> 80000",
        "stage: proposal -> negotiation",
    ]


def test_it_reports_a_soft_deleted_row_as_deleted(alice):
    contact = factories.contact(alice)
    state = service.enable(alice)

    contact.deleted_at = timezone.now()
    contact.save()
    (change,) = detect(state, until=later()).contacts

    assert change.change_type == "deleted"


def test_it_sees_changes_made_through_queryset_update_and_bulk_update(alice):
    deal = factories.deal(alice, stage="lead")
    other = factories.deal(alice, probability=10)
    state = service.enable(alice)

    Deal.objects.filter(pk=deal.pk).update(stage="qualified")
    other.probability = 60
    Deal.objects.bulk_update([other], ["probability"])

    assert {c.entity_id for c in detect(state, until=later()).deals} == {
        str(deal.pk),
        str(other.pk),
    }


def test_it_never_reports_another_users_rows(alice, bob, state):
    factories.deal(bob)
    factories.contact(bob)

    assert not detect(state, until=later()).has_changes


def test_it_only_looks_at_the_observed_types(alice):
    state = service.enable(alice, observers=["deals"])
    factories.contact(alice)
    factories.event(alice)
    factories.deal(alice)

    changes = detect(state, until=later())

    assert changes.totals == {"deals": 1}
    assert changes.contacts == [] and changes.events == []


def test_it_leaves_rows_written_after_the_window_to_the_next_run(alice, state):
    until = later()
    factories.deal(alice, title="Too late")
    Deal.objects.filter(title="Too late").update(
        updated_at=until + datetime.timedelta(seconds=1)
    )

    assert not detect(state, until=until).has_changes


def test_it_sees_a_late_commit_with_an_updated_at_inside_the_overlap(alice, state):
    deal = factories.deal(alice)
    # The row was stamped before the watermark but committed after the run
    # that set it had already read.
    Deal.objects.filter(pk=deal.pk).update(
        updated_at=state.last_run_at - datetime.timedelta(seconds=3)
    )

    (change,) = detect(state, until=later()).deals

    assert change.entity_id == str(deal.pk)


def test_it_does_not_report_twice_what_the_overlap_reads_again(alice, state):
    deal = factories.deal(alice)
    first = detect(state, until=later())
    save_snapshots(alice.pk, first, timezone.now())
    state.last_run_at = deal.updated_at + datetime.timedelta(seconds=1)

    assert not detect(state, until=later()).has_changes


def test_it_drops_a_touch_that_changed_no_tracked_field(alice):
    deal = factories.deal(alice)
    state = service.enable(alice)

    deal.save()

    assert not detect(state, until=later()).has_changes


def test_it_caps_what_it_loads_but_reports_the_true_count(alice, state):
    Deal.objects.bulk_create(
        Deal(user=alice, title=f"Bulk {n}", value=Decimal(1000 + n))
        for n in range(MAX_PER_TYPE + 20)
    )

    changes = detect(state, until=later())

    assert len(changes.deals) == MAX_PER_TYPE
    assert changes.totals["deals"] == MAX_PER_TYPE + 20
    assert changes.omitted == 20
