"""The public directory site generator: static pages (MkDocs-material chrome), search
index, calendars, open data and Meilisearch indexing. Entry point: sitegen.build.build_site."""
