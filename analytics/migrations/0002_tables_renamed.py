# The tables moved with the models in 0001_moved_from_portfolio take this app's names.
# PostgreSQL renames a table in place (no copy); indexes, constraints and rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('analytics', '0001_moved_from_portfolio'),
        ('portfolio', '0007_models_moved_out'),
    ]

    operations = [
        migrations.AlterModelTable(name='snapshot', table=None),
        migrations.AlterModelTable(name='signalobservation', table=None),
        migrations.AlterModelTable(name='readiness', table=None),
        migrations.AlterModelTable(name='ownerload', table=None),
        migrations.AlterModelTable(name='candidate', table=None),
        migrations.AlterModelTable(name='splitsignal', table=None),
        migrations.AlterModelTable(name='unitstate', table=None),
    ]
