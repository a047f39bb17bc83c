"""Pure metric functions: pandas in, pandas out.  No Django imports here, ever."""
