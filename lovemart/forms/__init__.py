"""WTForms forms, one module per web area, on the shared `LoveMartForm` base."""
