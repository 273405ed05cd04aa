"""Result texts summarise a station's answer in words, whatever its size: never raw JSON."""

from campaigns.engine.replies import CallReply
from campaigns.engine.texts import summarise


def test_a_long_answer_is_summarised_not_pasted():
    keys = [{"key": f"Key{i}", "readonly": False, "value": "x" * 50} for i in range(67)]
    text = CallReply("GetConfiguration", payload={"configurationKey": keys, "unknownKey": []}
                     ).describe()  # fmt: skip
    assert text == "configurationKey (67 items), unknownKey (0 items)"
    assert "{" not in text


def test_nested_status_and_short_values_are_named():
    payload = {"idTagInfo": {"status": "Invalid"}, "transactionId": 12}
    assert summarise(payload) == "idTagInfo status Invalid, transactionId 12"
    assert summarise({"data": "y" * 500}) == "data (500 characters)"
    assert summarise({}) == "an empty answer"
    assert summarise(None) == "no payload"
    assert summarise(["a"]) == "a list instead of an object"


def test_a_status_answer_reads_as_its_status():
    assert CallReply("Reset", payload={"status": "Accepted"}).describe() == "Accepted"
