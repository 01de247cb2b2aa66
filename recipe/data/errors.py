"""The error every data builder raises for a mistake the user can fix."""


class DataError(Exception):
    """A problem with the user's data or data settings, worded for the user to fix.

    The message names the file or setting at fault and, where one is likely, the fix.
    """
