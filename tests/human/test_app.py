"""The Flask app through its test client: login, CSRF, blind pages, escaping, ratings stored."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from assay.human.app import create_app
from assay.human.blinding import is_swapped
from assay.human.storage import Store


def client_for(store: Store) -> FlaskClient:
    app = create_app(store)
    app.testing = True
    return app.test_client()


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: FlaskClient, name: str) -> str:
    """Log in; return the first rating page's HTML."""
    token = csrf(client.get("/").get_data(as_text=True))
    response = client.post("/login", data={"name": name, "csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def shown_item(html: str) -> str:
    match = re.search(r'name="item_id" value="([^"]+)"', html)
    assert match, "page shows no item"
    return match.group(1)


def test_rate_requires_login_and_health_answers(single_store: Store) -> None:
    client = client_for(single_store)
    assert client.get("/rate").headers["Location"].endswith("/")
    assert client.get("/healthz").get_data(as_text=True) == "ok"


def test_posts_without_the_session_token_are_refused(single_store: Store) -> None:
    client = client_for(single_store)
    assert client.post("/login", data={"name": "mallory"}).status_code == 400
    login(client, "alice")
    bad = client.post("/rate", data={"item_id": "q0", "score": "5", "csrf_token": "forged"})
    assert bad.status_code == 400 and "expired" in bad.get_data(as_text=True)
    assert single_store.ratings() == []


def test_single_flow_stores_ratings_in_annotator_order(single_store: Store) -> None:
    client = client_for(single_store)
    html = login(client, "  alice  ")  # surrounding blanks are trimmed
    assert 'id="annotator">alice<' in html and "Item 1 of 4" in html
    seen = []
    for score in (3, 10, 7, 1):
        item_id = shown_item(html)
        seen.append(item_id)
        response = client.post(
            "/rate",
            data={"item_id": item_id, "score": str(score), "comment": f"c{score}", "csrf_token": csrf(html)},
            follow_redirects=True,
        )
        html = response.get_data(as_text=True)
    assert seen == single_store.order("alice")
    assert 'id="done"' in html and "all 4 items" in html
    stored = [(r.item_id, r.score, r.comment) for r in single_store.ratings()]
    assert sorted(stored) == sorted(zip(seen, (3, 10, 7, 1), ("c3", "c10", "c7", "c1"), strict=True))


def test_item_text_is_escaped_and_model_names_hidden(single_store: Store) -> None:
    client = client_for(single_store)
    html = login(client, "eve")
    while shown_item(html) != "q1":  # q1 holds a <script> response
        client.post("/rate", data={"item_id": shown_item(html), "score": "5", "csrf_token": csrf(html)})
        html = client.get("/rate").get_data(as_text=True)
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;&lt;b&gt;bold?&lt;/b&gt;" in html
    assert "<script>window" not in html
    assert "model-x" not in html and "model-y" not in html
    headers = client.get("/rate").headers
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'self': no inline scripts
    assert headers["X-Frame-Options"] == "DENY"


def test_bad_input_gets_a_400_page_and_stores_nothing(single_store: Store) -> None:
    client = client_for(single_store)
    html = login(client, "alice")
    token = csrf(html)
    for data in (
        {"item_id": shown_item(html), "score": "eleven"},
        {"item_id": "q0", "score": "0"},
        {"item_id": "missing", "score": "5"},
    ):
        response = client.post("/rate", data=data | {"csrf_token": token})
        assert response.status_code == 400, data
    assert single_store.ratings() == []
    empty = client_for(single_store)
    token = csrf(empty.get("/").get_data(as_text=True))
    page = empty.post("/login", data={"name": "   ", "csrf_token": token})
    assert page.status_code == 400 and "please enter your name" in page.get_data(as_text=True)


def test_pairwise_sides_are_randomized_and_resolved(pairwise_store: Store) -> None:
    client = client_for(pairwise_store)
    html = login(client, "alice")
    for _ in pairwise_store.items:
        item_id = shown_item(html)
        n = item_id[1:]
        # one left box, showing beta's text exactly when the sides are swapped for this annotator
        left = f"beta answer {n}" if is_swapped("alice", item_id) else f"alpha answer {n}"
        assert re.findall(r'id="response-a">([^<]*)<', html) == [left]
        assert "model-a" not in html and "model-b" not in html
        html = client.post(
            "/rate", data={"item_id": item_id, "choice": "A", "csrf_token": csrf(html)}, follow_redirects=True
        ).get_data(as_text=True)
    ratings = pairwise_store.ratings()
    assert {r.swapped for r in ratings} == {True, False}
    assert all(r.choice == "A" and r.winner == ("b" if r.swapped else "a") for r in ratings)


def test_logout_then_login_again_resumes(single_store: Store) -> None:
    client = client_for(single_store)
    html = login(client, "alice")
    first = shown_item(html)
    client.post("/rate", data={"item_id": first, "score": "4", "csrf_token": csrf(html)})
    html = client.get("/rate").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf(html)})
    assert client.get("/rate").status_code == 302
    html = login(client, "alice")
    assert shown_item(html) == single_store.order("alice")[1] and "Item 2 of 4" in html


def test_every_response_says_how_long_the_app_took(single_store: Store) -> None:
    client = client_for(single_store)
    html = login(client, "alice")
    answers = [
        client.get("/rate"),
        client.post("/rate", data={"item_id": shown_item(html), "score": "5", "csrf_token": csrf(html)}),
        client.post("/rate", data={"item_id": shown_item(html), "score": "5"}),  # refused: no CSRF token
    ]
    assert [a.status_code for a in answers] == [200, 302, 400]
    for answer in answers:
        match = re.fullmatch(r"app;dur=(\d+\.\d\d)", answer.headers.get("Server-Timing", ""))
        assert match and 0 < float(match.group(1)) < 10_000
