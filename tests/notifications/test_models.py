import pytest

from notifications.models import ActionItem, CreatedBy

pytestmark = pytest.mark.django_db


def test_an_action_item_keeps_its_title_in_normalised_form(alice):
    item = ActionItem.objects.create(
        user=alice, title="  Call   Maya about the RENEWAL "
    )

    assert item.normalised_title == "call maya about the renewal"


def test_an_action_item_is_open_until_dismissed(alice):
    item = ActionItem.objects.create(user=alice, title="Send the proposal")
    assert item.is_open

    item.dismissed = True

    assert not item.is_open


def test_a_worker_item_is_no_longer_open_once_retired(alice):
    item = ActionItem.objects.create(
        user=alice, title="Follow up with Jonas", created_by=CreatedBy.WORKER
    )

    item.retired_at = item.created_at

    assert not item.is_open
