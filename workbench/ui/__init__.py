"""The notebook app (``ui.app.Workbench``), its panels and the plotly views (``plots``).

Nothing outside this folder imports it."""
