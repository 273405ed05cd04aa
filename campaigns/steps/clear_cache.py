"""15 · Clear cache (if applicable): ClearCache must be Accepted."""

from campaigns.engine.context import StepContext

NUMBER = 15
CRITERIA = ("15.a",)


async def run(ctx: StepContext) -> None:
    reply = await ctx.call("ClearCache")
    ctx.check(
        "15.a",
        reply.status == "Accepted",
        f"ClearCache answered {reply.describe()}",
        evidence=reply.frames,
    )
    if reply.status == "Accepted":
        ctx.summary("Ok, ClearCache Accepted")
    elif reply.status == "Rejected":
        ctx.summary("Failed, ClearCache Rejected (station may have no authorization cache)")
