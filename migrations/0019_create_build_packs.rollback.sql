-- Drop build_packs.

DROP TABLE build_packs;
