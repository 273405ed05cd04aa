"""The test engine: what a step talks to (its context), and what runs a step (the runner).

A step module (campaigns/steps/<name>.py) sees only ``StepContext``: the verbs ``call``,
``expect``, ``expect_none``, ``collect``, ``prompt``, ``check``, ``note``. The context reaches the
station through a ``StationPort`` (the station bus in a worker, anything else in a test) and the
operator through a ``PromptChannel``; it keeps every result in memory for whoever persists it.
"""
