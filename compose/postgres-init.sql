-- The schema registry keeps its schemas in their own database, as in the local stack.
CREATE DATABASE registry OWNER loglane;
