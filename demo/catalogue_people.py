"""Who is in the demo: the people (with their logins), the teams and the clusters they own."""

from __future__ import annotations

from demo.catalogue_specs import SAME_DOMAIN, SAME_USERS, TECH, ClusterSpec, PersonSpec, TeamSpec

# --- People --------------------------------------------------------------------------------


PEOPLE = [
    PersonSpec("leader", "Helena Brandt", "Head of the IT product portfolio", leader=True),
    PersonSpec("owner", "Nora Lindqvist", "Product owner, employee experience"),
    PersonSpec("viewer", "Viktor Sandberg", "Business analyst, finance"),
    PersonSpec("priya", "Priya Raman", "Product owner, data and analytics"),
    PersonSpec("tomas", "Tomás Herrera", "Product owner, integration platforms"),
    PersonSpec("amara", "Amara Nwosu", "Product owner, identity and access"),
    PersonSpec("jonas", "Jonas Weber", "Product owner, finance systems"),
    PersonSpec("mei", "Mei Chen", "Product owner, workplace collaboration"),
    PersonSpec("lukas", "Lukas Novak", "Product owner, customer systems"),
    PersonSpec("sofia", "Sofia Marquez", "Product owner, IT service management"),
    PersonSpec("ahmed", "Ahmed Haddad", "Infrastructure delivery lead"),
    PersonSpec("grace", "Grace O'Neill", "Facilities applications coordinator"),
    PersonSpec("marek", "Marek Kowalski", "Facilities systems specialist", login_disabled=True),
    PersonSpec("ben", "Ben Carter", "Platform engineer"),
    PersonSpec("leila", "Leila Farah", "Data engineer"),
    PersonSpec("chloe", "Chloé Dubois", "Service desk analyst"),
    PersonSpec("ravi", "Ravi Patel", "Integration developer"),
    PersonSpec("hannah", "Hannah Schmidt", "HR systems analyst"),
    PersonSpec("daniel", "Daniel Foster", "Procurement systems owner", login=False,
               departed_days_ago=62),
    PersonSpec("ingrid", "Ingrid Holm", "Legal applications owner", login=False,
               departed_days_ago=210),
]  # fmt: skip
ADMIN_USERNAME = "admin"

# One login per role, printed by `make demo`.
ROLE_LOGINS = [
    ("portfolio leader", "leader"),
    ("product owner", "owner"),
    ("viewer", "viewer"),
]


# --- Teams ---------------------------------------------------------------------------------


TEAMS = [
    TeamSpec("people-systems", "People systems",
             "Builds and runs the tools employees meet from their first day to their last.",
             ("owner", "hannah")),
    TeamSpec("data-platform", "Data platform",
             "Looks after the warehouse, the pipelines that feed it and the reports on top.",
             ("priya", "leila")),
    TeamSpec("integration", "Integration",
             "Keeps systems talking to each other: the bus, the gateway and file transfers.",
             ("tomas", "ravi")),
    TeamSpec("identity", "Identity and access",
             "Sign-in, directories and who may reach what.", ("amara", "ben")),
    TeamSpec("finance-applications", "Finance applications",
             "Payroll, the ledger, purchasing and expenses.", ("jonas", "viewer")),
    TeamSpec("workplace", "Workplace",
             "Mail, chat, documents and the small tools that run the buildings.",
             ("mei", "grace", "marek")),
    TeamSpec("customer-systems", "Customer systems",
             "Everything a customer or a contact-centre agent touches.", ("lukas",)),
    TeamSpec("service-management", "Service management",
             "The catalogue, the service desk tooling and the configuration database.",
             ("sofia", "chloe")),
    TeamSpec("infrastructure", "Infrastructure",
             "Networks, servers and storage, delivered as planned pieces of work.",
             ("ahmed", "ben")),
]  # fmt: skip


# --- Clusters ------------------------------------------------------------------------------


CLUSTERS = [
    ClusterSpec(
        "employee-experience", "Employee experience", "owner", (SAME_USERS, SAME_DOMAIN),
        "The services every employee uses to find information, handle HR matters and start "
        "or leave a job, run as one offer with one front door.",
        "All staff are the users, and the journeys cross from one tool to the next.",
    ),
    ClusterSpec(
        "data-analytics", "Data and analytics", "priya", (SAME_DOMAIN, TECH),
        "From raw extracts to the dashboards management reads: the warehouse, the pipelines "
        "that load it, the reference data and the reporting layer.",
        "Each layer feeds the next; a change in one is felt in the others.",
    ),
    ClusterSpec(
        "integration-platforms", "Integration platforms", "tomas", (TECH,),
        "The shared plumbing other systems rely on to exchange data, inside the company and "
        "with partners.",
        "Every member is a dependency of dozens of systems and is changed by the same people.",
    ),
    ClusterSpec(
        "identity-access", "Identity and access", "amara", (TECH, SAME_DOMAIN),
        "Who people are, how they sign in and what they may reach, from joiner to leaver.",
        "Sign-on, privileged access and access reviews all read the same directory.",
    ),
    ClusterSpec(
        "finance-systems", "Finance systems", "jonas", (SAME_DOMAIN, SAME_USERS),
        "Paying people and suppliers, keeping the books and reimbursing expenses.",
        "The finance department uses all of them, and month-end touches every one.",
    ),
    ClusterSpec(
        "workplace-collaboration", "Workplace collaboration", "mei", (SAME_USERS,),
        "How colleagues write to, talk with and share work with each other.",
        "The same everyday users, who see these tools as one workplace.",
    ),
    ClusterSpec(
        "customer-engagement", "Customer engagement", "lukas", (SAME_DOMAIN, TECH),
        "What customers and the agents serving them use: records, the portal, the phones "
        "and the feedback loop.",
        "One customer record sits under every member.",
    ),
    ClusterSpec(
        "it-service-management", "IT service management", "sofia", (SAME_DOMAIN,),
        "How the rest of the company asks IT for things and gets help: the catalogue, the "
        "desk, the knowledge that answers questions and the record of what is installed.",
        "One service process runs end to end across these tools.",
    ),
    ClusterSpec(
        "workplace-odds-and-ends", "Workplace odds and ends", "grace", (),
        "Small building tools that were put together when each looked too small to own.",
        "Grouped because each one is small.",
    ),
]  # fmt: skip
