# The tables moved with the models in 0006_people_teams_clusters_moved_in take this app's names.
# PostgreSQL renames a table in place (no copy); indexes, constraints and rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('products', '0006_people_teams_clusters_moved_in'),
        ('portfolio', '0007_models_moved_out'),
    ]

    operations = [
        migrations.AlterModelTable(name='cluster', table=None),
        migrations.AlterModelTable(name='historicalcluster', table=None),
        migrations.AlterModelTable(name='historicalperson', table=None),
        migrations.AlterModelTable(name='historicalteam', table=None),
        migrations.AlterModelTable(name='person', table=None),
        migrations.AlterModelTable(name='team', table=None),
        migrations.AlterModelTable(name='historicalteam_members', table=None),
    ]
