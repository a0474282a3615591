"""Importers of the files secretaries keep today: the member register (CSV or XLSX)."""
