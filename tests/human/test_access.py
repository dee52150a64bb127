"""Invitations: off loopback nobody rates without one, and annotator A cannot read or change B's ratings.

Through the Flask test client with `require_invite=True` (what `--host` off loopback turns on); the real
server under waitress is exercised in test_serve_waitress.py.
"""

from __future__ import annotations

import sqlite3

from flask.testing import FlaskClient

from assay.human.access import needs_invite, token_hash
from assay.human.app import create_app
from assay.human.storage import Store

from .test_app import csrf, login, shown_item


def invited_client(store: Store) -> FlaskClient:
    app = create_app(store, require_invite=True)
    app.testing = True
    return app.test_client()


def sign_in(client: FlaskClient, token: str) -> str:
    """Open the invitation link, submit its form; return the first rating page."""
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    response = client.post(
        "/login", data={"invite": token, "csrf_token": csrf(html)}, follow_redirects=True
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def rows(store: Store) -> list[tuple[str, str, int, str]]:
    return sorted((r.annotator, r.item_id, r.score or 0, r.comment) for r in store.ratings())


def test_loopback_names_decide_the_mode() -> None:
    assert not any(needs_invite(h) for h in ("127.0.0.1", "localhost", "LOCALHOST", "::1", "[::1]"))
    assert all(needs_invite(h) for h in ("127.0.0.2", "0.0.0.0", "::", "10.1.2.3", "example.org"))


def test_only_the_hash_of_a_token_is_stored_and_a_new_invite_revokes_the_old(single_store: Store) -> None:
    first = single_store.invite("alice")
    second = single_store.invite("alice")
    assert first != second and len(second) >= 40
    assert single_store.invited(first) is None and single_store.invited(second) == "alice"
    with sqlite3.connect(single_store.path) as conn:
        stored = conn.execute("SELECT name, token_hash FROM invites").fetchall()
    assert stored == [("alice", token_hash(second))]
    assert second.encode() not in single_store.path.read_bytes()


def test_without_an_invitation_nobody_signs_in_or_rates(single_store: Store) -> None:
    client = invited_client(single_store)
    form_page = client.get("/").get_data(as_text=True)
    assert 'name="invite"' in form_page and 'name="name"' not in form_page
    token = csrf(form_page)
    refused = client.post("/login", data={"name": "alice", "csrf_token": token})
    assert refused.status_code == 403 and "invitation" in refused.get_data(as_text=True)
    forged = client.post("/login", data={"invite": "made-up", "csrf_token": token})
    assert forged.status_code == 403
    assert client.get("/invite/made-up").status_code == 404
    assert client.get("/rate").headers["Location"].endswith("/")
    posted = client.post("/rate", data={"item_id": "q0", "score": "5", "csrf_token": token})
    assert posted.status_code == 302 and posted.headers["Location"].endswith("/")
    assert single_store.ratings() == []


def test_a_name_session_from_loopback_does_not_pass_off_loopback(single_store: Store) -> None:
    local = create_app(single_store).test_client()
    login(local, "bob")  # loopback mode: sign-in by name
    cookie = local.get_cookie("assay_human")
    assert cookie is not None and cookie.value  # a signed session exists on loopback
    remote = invited_client(single_store)
    remote.set_cookie("assay_human", cookie.value)
    assert remote.get("/rate").headers["Location"].endswith("/")


def test_annotator_a_cannot_read_or_change_b_ratings(single_store: Store) -> None:
    alice_token, bob_token = single_store.invite("alice"), single_store.invite("bob")
    bob = invited_client(single_store)
    bob_page = sign_in(bob, bob_token)
    bob_item = shown_item(bob_page)
    bob.post(
        "/rate",
        data={"item_id": bob_item, "score": "9", "comment": "bob-secret", "csrf_token": csrf(bob_page)},
    )
    bob_page = bob.get("/rate").get_data(as_text=True)  # bob's next form, with bob's CSRF token
    before = rows(single_store)
    assert before == [("bob", bob_item, 9, "bob-secret")]

    alice = invited_client(single_store)
    alice_page = sign_in(alice, alice_token)
    assert 'id="annotator">alice<' in alice_page
    # reading: no route shows another annotator's items or ratings
    for path in ("/rate?annotator=bob", "/rate?name=bob", "/rate/bob", "/ratings", "/export", "/annotators/bob"):
        response = alice.get(path)
        html = response.get_data(as_text=True)
        assert "bob-secret" not in html and 'id="annotator">bob<' not in html, path
        assert response.status_code in (200, 404), path
    assert alice.get(f"/invite/{token_hash(bob_token)}").status_code == 404  # the stored hash is no key
    # changing: posting under bob's name, or with bob's form (his CSRF token) on alice's session
    mine = csrf(alice_page)
    alice.post(
        "/rate",
        data={"item_id": bob_item, "score": "1", "annotator": "bob", "name": "bob", "csrf_token": mine},
    )
    with_bob_form = alice.post("/rate", data={"item_id": bob_item, "score": "2", "csrf_token": csrf(bob_page)})
    assert with_bob_form.status_code == 400
    switched = alice.post("/login", data={"name": "bob", "csrf_token": mine})
    assert switched.status_code == 403
    after = rows(single_store)
    assert ("bob", bob_item, 9, "bob-secret") in after  # bob's rating is untouched
    assert [r for r in after if r[0] != "bob"] == [("alice", bob_item, 1, "")]  # alice's post was hers
    assert 'id="annotator">alice<' in alice.get("/rate").get_data(as_text=True)


def test_a_new_invitation_ends_the_sessions_of_the_old_link(single_store: Store) -> None:
    token = single_store.invite("alice")
    client = invited_client(single_store)
    html = sign_in(client, token)
    assert shown_item(html)
    single_store.invite("alice")
    assert client.get("/rate").headers["Location"].endswith("/")
    assert client.get(f"/invite/{token}").status_code == 404
