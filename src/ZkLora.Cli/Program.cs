using System.CommandLine;
using ZkLora.Cli;

return await ZkLoraCommand.Build().Parse(args).InvokeAsync();
