"""exchangelib against the exh emulator, with the library's default behaviour.

Run by test/emulator/exchangelib/exchangelib.test.ts as `/usr/bin/python3 driver.py SCENARIO`, one process per
scenario. The emulator is named by the environment: EXH_EWS_URL, EXH_PASSWORD, EXH_SERVICE_ACCOUNT, EXH_ALICE,
EXH_BOB. Nothing is pinned: no Version (exchangelib probes the server with ConvertId and reads ServerVersionInfo), no
auth type (it tastes the 401 and picks NTLM), no .only() on queries (every field exchangelib knows is asked for).

A scenario checks what it can itself (assert, with a message naming what broke) and prints one JSON object on stdout
for the test to check further; a failure is a traceback on stderr and exit status 1.
"""

import datetime
import json
import os
import sys
import time
import traceback

from exchangelib import (
    DELEGATE,
    IMPERSONATION,
    Account,
    CalendarItem,
    Configuration,
    Contact,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    HTMLBody,
    Mailbox,
    Message,
    Task,
)
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingRequest
from exchangelib.properties import AlternateId

URL = os.environ["EXH_EWS_URL"]
PASSWORD = os.environ["EXH_PASSWORD"]
SERVICE_ACCOUNT = os.environ["EXH_SERVICE_ACCOUNT"]
ALICE = os.environ["EXH_ALICE"]
BOB = os.environ["EXH_BOB"]
UTC = EWSTimeZone("UTC")


def account(address, impersonate=False):
    """An Account as exchangelib's documentation sets one up without autodiscover: the EWS URL and credentials."""
    user = SERVICE_ACCOUNT if impersonate else address
    config = Configuration(service_endpoint=URL, credentials=Credentials(user, PASSWORD))
    return Account(
        primary_smtp_address=address,
        config=config,
        autodiscover=False,
        access_type=IMPERSONATION if impersonate else DELEGATE,
        default_timezone=UTC,
    )


def at(days, hour):
    start = datetime.datetime(2030, 5, 6, tzinfo=datetime.timezone.utc) + datetime.timedelta(days=days, hours=hour)
    return EWSDateTime.from_datetime(start)


def version():
    a = account(ALICE)
    v = a.version
    # ConvertId as an application calls it: the inbox's id to every format and back.
    inbox_id = a.inbox.id
    round_trips = {}
    for fmt in ("EwsLegacyId", "EntryId", "HexEntryId", "StoreId", "OwaId"):
        (there,) = a.protocol.convert_ids([AlternateId(id=inbox_id, format="EwsId", mailbox=ALICE)], fmt)
        (back,) = a.protocol.convert_ids([AlternateId(id=there.id, format=fmt, mailbox=ALICE)], "EwsId")
        round_trips[fmt] = back.id == inbox_id and there.id != inbox_id
    return {
        "build": str(v.build),
        "api_version": v.api_version,
        "auth_type": a.protocol.auth_type,
        "convert_id_round_trips": round_trips,
    }


def folders():
    a = account(ALICE)
    walked = [
        {"name": f.name, "class": type(f).__name__, "folder_class": f.folder_class, "total": f.total_count}
        for f in a.root.walk()
    ]
    children = sorted(f.name for f in a.msg_folder_root.children)
    # Every distinguished folder exchangelib's Account offers, by its property: the folder or the error it met.
    distinguished = {}
    for prop in (
        "inbox", "drafts", "sent", "outbox", "trash", "junk", "calendar", "contacts", "tasks", "notes", "journal",
        "conflicts", "local_failures", "server_failures", "sync_issues", "search_folders", "voice_mail",
        "recoverable_items_root", "recoverable_items_deletions", "recoverable_items_purges",
        "recoverable_items_versions", "conversation_history", "favorites", "im_contact_list", "my_contacts",
        "people_connect", "quick_contacts", "recipient_cache", "todo_search", "directory", "msg_folder_root",
    ):
        try:
            f = getattr(a, prop)
            distinguished[prop] = {"name": f.name, "folder_class": f.folder_class}
        except Exception as e:  # noqa: BLE001 - the error's type is the answer
            distinguished[prop] = {"error": type(e).__name__}
    inbox = a.inbox
    return {
        "walked": walked,
        "children": children,
        "distinguished": distinguished,
        "inbox": {
            "name": inbox.name,
            "folder_class": inbox.folder_class,
            "total_count": inbox.total_count,
            "unread_count": inbox.unread_count,
            "child_folder_count": inbox.child_folder_count,
        },
        "inbox_via_slash": (a.msg_folder_root / "Inbox").name,
    }


def all_items():
    """calendar.all(), inbox.all(), contacts.all(), tasks.all(): every field exchangelib knows, no .only()."""
    a = account(ALICE)
    out = {}
    for name, folder in (("calendar", a.calendar), ("inbox", a.inbox), ("contacts", a.contacts), ("tasks", a.tasks)):
        items = list(folder.all())
        out[name] = [
            {
                "type": type(i).__name__,
                "subject": i.subject,
                "body": str(i.body) if i.body is not None else None,
                "has_changekey": bool(i.changekey),
                "extra": extra_fields(i),
            }
            for i in items
        ]
    return out


def extra_fields(item):
    if isinstance(item, CalendarItem):
        return {"start": item.start.isoformat(), "location": item.location, "is_all_day": item.is_all_day}
    if isinstance(item, Contact):
        emails = [e.email for e in (item.email_addresses or [])]
        return {"display_name": item.display_name, "given_name": item.given_name, "emails": emails}
    if isinstance(item, Task):
        return {"status": item.status, "percent_complete": str(item.percent_complete)}
    if isinstance(item, Message):
        return {"sender": item.sender.email_address if item.sender else None, "is_read": item.is_read}
    return {}


def crud():
    """Create, update (save with update_fields), read back and delete one item of each type."""
    a = account(ALICE)
    made = {
        "CalendarItem": CalendarItem(
            account=a, folder=a.calendar, subject="xl appointment", start=at(0, 9), end=at(0, 10), location="Room 1"
        ),
        "Message": Message(account=a, folder=a.drafts, subject="xl draft", body=HTMLBody("<p>Hello</p>"),
                           to_recipients=[Mailbox(email_address=BOB)]),
        "Contact": Contact(account=a, folder=a.contacts, given_name="Ada", surname="Lovelace",
                           display_name="Ada Lovelace"),
        "Task": Task(account=a, folder=a.tasks, subject="xl task", status="NotStarted"),
    }
    out = {}
    for kind, item in made.items():
        item.save()
        assert item.id and item.changekey, f"{kind}: save() gave no id"
        first_key = item.changekey
        if kind == "Contact":
            item.display_name = "Ada King"
            item.save(update_fields=["display_name"])
        else:
            item.subject = item.subject + " (changed)"
            item.save(update_fields=["subject"])
        assert item.changekey != first_key, f"{kind}: the ChangeKey did not change on update"
        fresh = item.folder.get(id=item.id)
        label = fresh.display_name if kind == "Contact" else fresh.subject
        item.delete()
        out[kind] = {"read_back": label}
    # Deleted for good: none of the four is found any more.
    for kind, folder in (("CalendarItem", a.calendar), ("Message", a.drafts), ("Contact", a.contacts),
                         ("Task", a.tasks)):
        out[kind]["left_in_folder"] = [i.subject if kind != "Contact" else i.display_name for i in folder.all()]
    return out


def send():
    a = account(ALICE)
    # send() keeps a copy in Sent Items unless told not to (save_copy=False: SendOnly).
    Message(account=a, subject="xl sent only", body="one", to_recipients=[Mailbox(email_address=BOB)]).send(
        save_copy=False
    )
    Message(account=a, folder=a.sent, subject="xl sent and saved", body="two",
            to_recipients=[Mailbox(email_address=BOB)]).send_and_save()
    draft = Message(account=a, folder=a.drafts, subject="xl draft then sent", body="three",
                    to_recipients=[Mailbox(email_address=BOB)])
    draft.save()
    draft.send()
    b = account(BOB)
    return {
        "bob_inbox": sorted(m.subject for m in b.inbox.all()),
        "alice_sent": sorted(m.subject for m in a.sent.all()),
        "alice_drafts": sorted(m.subject for m in a.drafts.all()),
    }


def sync():
    a = account(ALICE)
    folder = a.tasks
    first = [(change, type(item).__name__) for change, item in folder.sync_items()]
    state = folder.item_sync_state
    assert state, "no sync state after the first sync"
    task = Task(account=a, folder=folder, subject="xl synced task")
    task.save()
    second = [(change, getattr(item, "subject", None)) for change, item in folder.sync_items()]
    task.subject = "xl synced task (changed)"
    task.save(update_fields=["subject"])
    third = [(change, getattr(item, "subject", None)) for change, item in folder.sync_items()]
    task.delete()
    fourth = [(change, item[0] if isinstance(item, tuple) else getattr(item, "id", None) == task.id)
              for change, item in folder.sync_items()]
    return {"first": first, "second": second, "third": third, "fourth": fourth}


def events_of(notifications):
    out = []
    for notification in notifications:
        for event in notification.events:
            out.append(type(event).__name__)
    return out


def pull():
    a = account(ALICE)
    folder = a.tasks
    subscription_id, watermark = folder.subscribe_to_pull()
    Task(account=a, folder=folder, subject="xl pulled task").save()
    seen = []
    for notification in folder.get_events(subscription_id, watermark):
        seen.append(notification)
    folder.unsubscribe(subscription_id)
    return {"events": events_of(seen)}


def streaming():
    a = account(ALICE)
    folder = a.tasks
    subscription_id = folder.subscribe_to_streaming()
    Task(account=a, folder=folder, subject="xl streamed task").save()
    seen = list(folder.get_streaming_events(subscription_id, connection_timeout=1, max_notifications_returned=1))
    folder.unsubscribe(subscription_id)
    return {"events": events_of(seen)}


def impersonation():
    b = account(BOB, impersonate=True)
    task = Task(account=b, folder=b.tasks, subject="xl task as bob")
    task.save()
    subjects = sorted(t.subject for t in b.tasks.all())
    task.delete()
    return {"access_type": b.access_type, "tasks": subjects}


def meeting():
    """Alice invites Bob; Bob accepts the request from his inbox; Alice's copy shows his answer."""
    a = account(ALICE)
    appointment = CalendarItem(
        account=a, folder=a.calendar, subject="xl meeting", start=at(1, 13), end=at(1, 14),
        required_attendees=[BOB],
    )
    appointment.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    b = account(BOB)
    request = None
    for _ in range(20):
        found = [i for i in b.inbox.all() if isinstance(i, MeetingRequest) and i.subject == "xl meeting"]
        if found:
            request = found[0]
            break
        time.sleep(0.1)
    assert request is not None, "no MeetingRequest for the meeting in Bob's inbox"
    request.accept(body="See you there")
    bobs = [i for i in b.calendar.all() if i.subject == "xl meeting"]
    organizer_copy = a.calendar.get(id=appointment.id)
    return {
        "bob_calendar": [i.my_response_type for i in bobs],
        "organizer_attendees": [
            {"email": att.mailbox.email_address, "response": att.response_type}
            for att in (organizer_copy.required_attendees or [])
        ],
    }


def sync_hierarchy():
    """SyncFolderHierarchy from the root: the whole tree first, then nothing new."""
    a = account(ALICE)
    first = [(change, f.name) for change, f in a.root.sync_hierarchy()]
    second = [(change, f.name) for change, f in a.root.sync_hierarchy()]
    return {"first": first, "second": second}


def resolve_names():
    a = account(ALICE)
    found = a.protocol.resolve_names(["bob"])
    return {"found": [m.email_address for m in found]}


def timezones():
    a = account(ALICE)
    zones = list(a.protocol.get_timezones())
    return {"count": len(zones), "ids": [z.id if hasattr(z, "id") else z[0] for z in zones][:400]}


def room_lists():
    a = account(ALICE)
    return {"room_lists": [r.email_address for r in a.protocol.get_roomlists()]}


def oof():
    from exchangelib import OofSettings

    a = account(ALICE)
    a.oof_settings = OofSettings(
        state=OofSettings.ENABLED, internal_reply="Away", external_reply="Away (external)", external_audience="All"
    )
    s = a.oof_settings
    return {"state": s.state, "internal_reply": s.internal_reply, "external_audience": s.external_audience}


def free_busy():
    a = account(ALICE)
    CalendarItem(account=a, folder=a.calendar, subject="xl busy", start=at(3, 9), end=at(3, 10)).save()
    views = list(
        a.protocol.get_free_busy_info(
            accounts=[(a, "Required", False)], start=at(3, 0), end=at(4, 0), requested_view="DetailedMerged"
        )
    )
    events = [(e.busy_type, e.start.isoformat(), e.end.isoformat()) for v in views for e in (v.calendar_events or [])]
    return {"events": events}


SCENARIOS = {
    f.__name__: f
    for f in (
        version, folders, all_items, crud, send, sync, pull, streaming, impersonation, meeting,
        sync_hierarchy, resolve_names, timezones, room_lists, oof, free_busy,
    )
}

if __name__ == "__main__":
    try:
        result = SCENARIOS[sys.argv[1]]()
    except Exception:  # noqa: BLE001 - the whole traceback is the report
        traceback.print_exc()
        sys.exit(1)
    print(json.dumps(result, default=str))
