from portfolio.permissions import is_leader


def roles(request) -> dict:
    user = getattr(request, "user", None)
    return {"user_is_leader": bool(user and is_leader(user))}
