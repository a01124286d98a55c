"""Files in and out: the file format (itemfile), the three-way merge, the importer and
the exporter. The only part of the project that knows the Markdown + YAML format."""
