import factory

from products.models import ExternalId, OwnershipUnit, Product, Stage, UnitKind


class ProductFactory(factory.django.DjangoModelFactory):
    """A product with its own unit. owner=Person names the owner; cluster=Cluster joins one."""

    class Meta:
        model = Product
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    kind = "system"
    lifecycle_stage = Stage.MATURITY
    description = "A product used in tests."

    @factory.post_generation
    def owner(self, create, extracted, **kwargs):
        if not create:
            return
        cluster = getattr(self, "_cluster", None)
        unit = OwnershipUnit.objects.create(
            kind=UnitKind.PRODUCT, product=self, owner=extracted, is_active=cluster is None
        )
        self.unit = cluster.unit if cluster is not None else unit
        self.save(update_fields=["unit"])

    @classmethod
    def _create(cls, model_class, *args, cluster=None, **kwargs):
        obj = model_class(*args, **kwargs)
        obj._cluster = cluster
        obj.save()
        return obj

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        return kwargs


class ExternalIdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalId

    product = factory.SubFactory(ProductFactory)
    source = "cmdb"
    external_id = factory.Sequence(lambda n: f"CI-{n:05d}")
