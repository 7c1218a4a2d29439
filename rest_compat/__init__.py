"""TMF640 REST paths mapped onto resolvers: query parsing, fields, paging, errors, hub."""
