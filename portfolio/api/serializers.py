"""The API's shared serializers: the one error shape, choice fields named once in the schema,
and the portfolio settings. (Row outputs are declared with portfolio/api/rows.py.)"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from portfolio.models import PortfolioSettings

# --- Shared pieces ------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    code = serializers.CharField()
    detail = serializers.CharField()
    # To mypy this shadows Serializer.errors; DRF's metaclass lifts declared fields off the class.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    rule = serializers.CharField(required=False)


class StaleVersionSerializer(ErrorSerializer):
    """412: the object changed since the version the client sent."""

    current = serializers.DictField(help_text="The object as stored now, as a read answers it.")
    yours = serializers.DictField(help_text="What you sent, with the version you named.")


# --- Portfolio settings -------------------------------------------------------------------------


class PortfolioSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = PortfolioSettings
        exclude = ["id"]
        read_only_fields = ["updated_at", "version"]

    def validate(self, attrs):
        current = self.instance
        low = attrs.get("metrics_min", getattr(current, "metrics_min", 3))
        high = attrs.get("metrics_max", getattr(current, "metrics_max", 5))
        if low > high:
            raise serializers.ValidationError(
                {"metrics_min": ["The minimum number of metrics cannot exceed the maximum."]}
            )
        return attrs


class NamedChoiceField(serializers.ChoiceField):
    """A choice field documented once, as its own `<enum_name>` component."""

    enum_name = ""
    enum_choices: list[tuple[str, str]] = []
    enum_help = ""

    def __init__(self, **kwargs):
        super().__init__(choices=self.enum_choices, **kwargs)


class NamedChoiceFieldSchema(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField
    match_subclasses = True

    def get_name(self) -> str:
        return self.target.enum_name

    def map_serializer_field(self, auto_schema, direction):
        values = [value for value, _label in self.target.enum_choices]
        return {"type": "string", "enum": values, "description": self.target.enum_help}
