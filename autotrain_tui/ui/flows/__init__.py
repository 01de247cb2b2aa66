"""The app's flows, one module each: the app composes the screen and routes keys to them.

Each flow is a mixin of `AppBase` (the state and panes every flow shares), so its Textual
handlers (`@on`, `@work`) register on the one app class that combines them.
"""
