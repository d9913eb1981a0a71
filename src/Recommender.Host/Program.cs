using Recommender.Host.Cli;

return await RecommenderCli.RunAsync(args, Console.Out, Console.Error);
