"""`povsim report`: one self-contained HTML page (and a Markdown twin) that answers the batch's
question with the compare table and every figure, each read in two lines generated from the
numbers, plus provenance and the assumptions that carry the most weight (docs/analysis.md).

The report is assembled once as a list of blocks (:class:`Doc`) and rendered twice, so the HTML
and the Markdown cannot drift apart. HTML embeds its figures as base64 PNG; Markdown links them.

Modules: ``document`` (blocks, HTML and Markdown), ``readings`` (figures and their readings),
``sections`` (what the report says), ``build`` (assembling and writing it).
"""
