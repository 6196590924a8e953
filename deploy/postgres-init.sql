-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d/):
-- one database per service, each owned by the application role (POSTGRES_USER=dossier).
-- The schemas themselves come from `dossier migrate`.
CREATE DATABASE intake OWNER dossier;
CREATE DATABASE documents OWNER dossier;
CREATE DATABASE review OWNER dossier;
CREATE DATABASE notify OWNER dossier;
