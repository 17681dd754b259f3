# Per-day counts of one activity-tracker event type, every UTC day of [input.from, input.to)
# present (zero when nothing happened).
from days import days_between


async def main(configuration, input, events):
    counts = {day: 0 for day in days_between(input["from"], input["to"])}
    after = None
    while True:
        page = await events.query(type=configuration["eventType"], from_=input["from"], to=input["to"], after=after)
        for e in page["events"]:
            counts[e["occurredAt"][:10]] += 1
        after = page["next"]
        if after is None:
            return counts
