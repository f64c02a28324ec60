"""The ground floor: code that belongs to no app and imports none.

Plain modules in the manner of Healthchecks' hc/lib: they import Django and third-party packages
only, never an app of this project, so every app may use them.

- errors: the one base of every refusal a user reads (Refused), and how a form, a view or the
  API turns one into a message.
- cn: Chinese value rules: full-width text, national ID numbers, phone numbers and their masks,
  dates and genders as committees write them, names.
- pii: encryption and keyed hashes of personal data.
- spreadsheets: reading xlsx/csv lists row by row with per-cell errors; spreadsheet-safe export.
- pgcopy: bulk writes on PostgreSQL with COPY, with their simple-history rows.
- iters: chunking.
- drf: the REST framework's side of errors.
"""
