"""Importing a resident list, in one direction: the file is read by wuyi.lib.spreadsheets,
then parse (cells → checked rows), plan (checked rows → what would change in one community),
write (plan → rows with history). services.resident_import runs the steps; nothing here
imports a later step from an earlier one."""
