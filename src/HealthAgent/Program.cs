using HealthAgent.Cli;

// Composition root only: every verb lives in Cli/ and is listed in CommandCatalog.
return await CommandCatalog.BuildRoot().Parse(args).InvokeAsync();
