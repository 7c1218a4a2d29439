// GraphiQL over this server's /graphql: queries and mutations over HTTP, subscriptions over
// graphql-transport-ws (the graphql-ws client) on the same path. Every asset is served from /web/vendor.
(function () {
  const http = new URL("/graphql", window.location.href).href;
  const ws = http.replace(/^http/, "ws");
  const fetcher = GraphiQL.createFetcher({
    url: http,
    wsClient: graphqlWs.createClient({ url: ws, lazy: true }),
  });
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }));
})();
