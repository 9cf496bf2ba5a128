import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from portfolio.permissions import LEADERS_GROUP
from products.models import Cluster, ClusterReason, Person, Team


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def leader(self, create, extracted, **kwargs):
        if create and extracted:
            group, _ = Group.objects.get_or_create(name=LEADERS_GROUP)
            self.groups.add(group)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"person{n}@example.org")
    title = "Product owner"
    user = factory.SubFactory(UserFactory)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.set(extracted)


class ClusterFactory(factory.django.DjangoModelFactory):
    """A cluster with its ownership unit; pass owner=Person to name its owner."""

    class Meta:
        model = Cluster
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Cluster {n}")
    slug = factory.Sequence(lambda n: f"cluster-{n}")
    reasons = factory.LazyFunction(lambda: [ClusterReason.SAME_USERS])

    @factory.post_generation
    def owner(self, create, extracted, **kwargs):
        from products.models import OwnershipUnit, UnitKind

        if create:
            OwnershipUnit.objects.create(kind=UnitKind.CLUSTER, cluster=self, owner=extracted)
