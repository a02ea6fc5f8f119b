"""What the Airflow web UI shows operators: DAG docs, task notes, links to S3 objects."""
