using ZkLora.Cli;

return await ZkLoraCommand.RunAsync(args);
