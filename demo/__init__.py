"""The demo portfolio: an IT organisation part-way through moving from projects to products.

`demo.builder.build()` makes it through the services, acting as the demo leader, so every
write leaves the same history and lifecycle records a person's would. It is deterministic
(fixed lists; the readings' noise comes from a random generator seeded per metric; dates are
counted from the day of the first build and kept afterwards) and idempotent: people are keyed
on email, logins on username, teams, clusters and products on slug. A second build reuses
what exists, brings changed fields back to the definition and creates nothing twice.

The definition is split by domain, each module with its lists and the steps that build them:
`catalogue` (with `catalogue_specs`, `catalogue_people`, `catalogue_products`), `backlog`,
`metrics`, `funding`, `analytics` and `reviews`; `builder` runs the steps in order.

What the data is meant to show, so each page has something to say:
- nine clusters, one of them grouped for no reason ("they are all small"), which is flagged;
- every lifecycle stage, with recorded transitions: products in retirement with migration
  plans, retired ones (one retired by a leader's override, its capability dropped), and a
  reinvestment that moved a mature product back into growth;
- owners at every load: Priya Raman carries two actively evolving units and three stable
  ones (over the ceiling, triaging), Jonas Weber one active and four stable (over), Mei Chen
  one active and three stable (at the ceiling);
- orphans: two products nobody owns, three owned by people who left, one whose owner's login
  is switched off;
- project-managed items with end dates (switches, a server refresh, a one-time data import, a
  compliance deadline, an archive migration);
- strategic products, CMDB ids and a web of dependencies;
- a backlog for every product-managed unit, with finished, running and waiting work across
  improvement, operations and support; two crowded clusters (data and analytics, customer
  engagement: one member holds most of the open estimate while another has finished nothing
  for months) and stale items nobody touched for over half a year. Items are keyed on
  (unit, title);
- metrics from the catalogue on every product-managed product (three to five across
  improvement, operations and support for most; seven products fall short, go over or have
  none, so the coverage warning shows) with six months of readings at each metric's
  interval: steady ones, three gone red, six amber, three whose feed stopped weeks ago
  (stale), one defined but never measured (no data), and a few that recovered. Metrics are
  keyed on (product, key); a later build adds only the readings that came due since;
- funding for this fiscal year: an allocation for every unit (running costs ahead for the
  mature platforms, improvement money ahead for the growing products, the neglected units
  funded reactively and the project-managed items per project; last year's for three units,
  to show the move off projects and fixes) and investment requests asked by each unit's
  owner, following last quarter's review decisions: a dozen approved by the rules, one
  approved and two rejected by the leader with reasons, one withdrawn, and four in the
  leaders' queue (three above the governance threshold, two of them on cluster members that
  are not flagged strategic, and one that only the unit's capacity stops). Allocations are
  keyed on (unit, year), requests on (product, year, purpose);
- the portfolio analytics, computed as the hourly job does (after the funding, so reactive
  funding shows among the candidates and big requests as strategic signals): three weekly
  snapshots before the first build and one from today, so the dashboard opens with a past.
  Jonas and Priya are over the ceiling in every one of them (a portfolio design problem, with
  the units they could run as one cluster), crowding has been seen in enough weeks to open a
  signal, one member takes most of the operations work in a few clusters, strategic members
  are flagged, and the orphans lead the "where to start" list;
- quarterly reviews: last quarter's cycle held in full (every review closed with one or two
  decisions, every kind among them, and action items since done by hand, finished or under
  way on the backlog, or not done at all), and this quarter's scheduled over the ten working
  days from today (a few within the reminder's reach, none held), every packet ready and the
  first day's printed, each showing last quarter's decisions and their follow-through.
  Cycles are keyed on the quarter, reviews on (cycle, unit); a held review is never touched
  again.
"""
