"""Documents rendered from the records: cards, the portfolio report, evidence-pack files.

Pure code, no database: a document is built as a list of blocks (:mod:`.blocks`) from the
JSON a service returns, and rendered to Markdown or HTML by Jinja2 templates, or to PDF by
fpdf2 (pure Python, no system libraries). The CLI renders locally what the API returns, so
local and remote use give the same bytes.
"""
