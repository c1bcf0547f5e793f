// Starts GraphiQL (vendored, see SOURCES.txt) against the page's own /graphql.
// A file of its own, not an inline script, so the page's Content-Security-Policy allows
// only Petunia's own scripts.
(function () {
  "use strict";
  var url = window.location.pathname;
  var fetcher = GraphiQL.createFetcher({ url: url });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: "{\n  domains {\n    label\n    sessionCount\n  }\n}\n",
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
    })
  );
})();
