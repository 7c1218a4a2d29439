"""What a Monitor's outcome means, decided once (resolvers.rules.monitor_docs): plain Python, no server."""

from __future__ import annotations

from typing import Any

from resolvers.rules import monitor_docs

HREF = "http://testserver/tmf-api/serviceActivationAndConfiguration/v4/monitor/m1"


def _monitor(outcome: monitor_docs.Outcome | None, summary: dict[str, Any]) -> dict[str, Any]:
    request = monitor_docs.request_part("POST", "/service", {"name": "a"}, [])
    doc = monitor_docs.new_doc("http://testserver/service/s1", request, summary)
    if outcome is not None:
        doc = monitor_docs.finished(doc, outcome, summary)
    return monitor_docs.render("m1", HREF, doc)


def test_the_engine_writes_each_outcome_with_its_state_and_status() -> None:
    assert monitor_docs.completed("create") == monitor_docs.Outcome("completed", "Completed", 201)
    assert monitor_docs.completed("patch").status_code == 200
    assert monitor_docs.completed("delete").status_code == 204
    assert monitor_docs.failed(by_network=True) == monitor_docs.Outcome("failed", "InError", 502)
    assert monitor_docs.failed(by_network=False) == monitor_docs.Outcome("failed", "InError", 409)
    assert monitor_docs.Outcome("cancelled", "InError", 409) == monitor_docs.CANCELLED
    done = _monitor(monitor_docs.completed("create"), {"outcome": "completed"})
    assert (done["id"], done["href"], done["state"], done["response"]["statusCode"]) == ("m1", HREF, "Completed",
                                                                                          "201")


def test_work_under_way_is_not_final_and_answers_202() -> None:
    verdict = monitor_docs.verdict(_monitor(None, {"outcome": "inProgress"}))
    assert verdict == monitor_docs.Verdict(final=False, outcome="inProgress", status_code=202)


def test_completed_work_is_final_and_not_failed() -> None:
    verdict = monitor_docs.verdict(_monitor(monitor_docs.completed("patch"), {"outcome": "completed"}))
    assert (verdict.final, verdict.failed, verdict.outcome, verdict.error) == (True, False, "completed", None)


def test_a_refused_step_is_a_502_naming_the_failed_members_and_the_monitor() -> None:
    summary = {"outcome": "failed", "members": [
        {"id": "a", "status": "failed", "error": "the network said no"},
        {"id": "b", "status": "compensated"},
    ]}
    verdict = monitor_docs.verdict(_monitor(monitor_docs.failed(by_network=True), summary))
    assert (verdict.final, verdict.failed, verdict.status_code, verdict.error) == (True, True, 502,
                                                                                   "ActivationFailed")
    assert verdict.message == f"a: the network said no; see {HREF}"


def test_cancelled_work_is_a_409_naming_the_cancelling_monitor() -> None:
    summary = {"outcome": "cancelled", "cancelledBy": "m2", "members": []}
    verdict = monitor_docs.verdict(_monitor(monitor_docs.CANCELLED, summary))
    assert (verdict.status_code, verdict.error, verdict.outcome) == (409, "ActivationCancelled", "cancelled")
    assert verdict.message == f"the work was cancelled by a later request (monitor m2); see {HREF}"


def test_a_monitor_not_written_by_this_server_has_no_outcome() -> None:
    doc = {"id": "x", "href": HREF, "state": "InProgress", "response": {"statusCode": "202", "body": ""}}
    assert monitor_docs.verdict(doc) == monitor_docs.Verdict(final=False, outcome=None, status_code=202)
