"""The command line (``python -m workbench``): flags and configs (``main``), and the
commands that train and use saved runs (``commands``)."""
