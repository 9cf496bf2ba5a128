from rest_framework.permissions import BasePermission


class IsAuthenticatedReadOrRule(BasePermission):
    """Any login reads; writes are checked by the services, which know the rule."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)
