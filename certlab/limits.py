"""The longest texts a user may enter, in one place: forms enforce them with a message, and the
report is laid out to print every one of them whole (it wraps, it never cuts)."""

RESULT_TEXT = 2000  # a step's result as it goes into the report (the seeds' longest: ~300)
NOTE = 4000  # notes on a verdict, a campaign, a station
REASON = 500  # why a step is not applicable or not supported
RELEASE_NOTES = 20000
PROMPT_VALUE = 200  # what an operator types into a prompt (an idTag, a reading)
CONSOLE_FRAME = 256 * 1024  # a raw frame or payload typed into the station console (negative tests)
