"""Patient screens: thin views that call one selector or service and render."""
