-- Catalogs cached before they recorded caveats (views without security_barrier, tables
-- with unreadable inheritance children) are read again, so the guard knows them at once.
DELETE FROM catalogs;
