"""GraphQL: types, inputs, Query/Mutation/Subscription, loaders, context."""
