"""The tokyobeta Airflow plugin: registers the links from tasks to the S3 objects they used.

This file sits directly in plugins/ (and at the root of plugins.zip) because .airflowignore
keeps Airflow's plugin manager out of the tokyobeta package itself; the links live there
(tokyobeta.ui.links). The dbt docs page comes from astronomer-cosmos's own plugin, pointed at
the packaged docs by the [cosmos] dbt_docs_dir setting."""

from airflow.plugins_manager import AirflowPlugin

from tokyobeta.ui.links import S3_OBJECT_LINKS


class TokyobetaPlugin(AirflowPlugin):
    name = "tokyobeta"
    operator_extra_links = list(S3_OBJECT_LINKS)
