# The tables moved with the models in 0001_moved_from_portfolio take this app's names.
# PostgreSQL renames a table in place (no copy); indexes, constraints and rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('funding', '0001_moved_from_portfolio'),
        ('portfolio', '0007_models_moved_out'),
    ]

    operations = [
        migrations.AlterModelTable(name='fundingallocation', table=None),
        migrations.AlterModelTable(name='investmentrequest', table=None),
    ]
